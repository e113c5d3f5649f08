"""Pure Plotly figure builders, one module per area (training, cells, gates,
gradients, learn). They take NumPy arrays / plain data and return
``plotly.graph_objects.Figure``; no Streamlit, no model code. Heatmaps get
float32 arrays and long sequences are windowed by the caller.
"""
