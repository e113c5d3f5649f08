"""Pure Plotly figure builders, one module per area (training, cells, gates,
gradients, learn). They take NumPy arrays / plain data and return
``plotly.graph_objects.Figure``; no Streamlit, no model code. Heatmaps get
float32 arrays and long sequences are windowed by the caller.
"""

# One colour scale per meaning, for every figure of the app (the HTML views use the same
# colours: ``rnnviz.ui.html.diverging_rgb``).
SIGNED = [[0.0, "rgb(255,65,65)"], [0.5, "rgb(255,255,255)"], [1.0, "rgb(55,105,255)"]]  # -1 red .. +1 blue
GATE = [[0.0, "rgb(255,255,255)"], [1.0, "rgb(55,105,255)"]]  # 0 (closed) white .. 1 (open) blue
COLORSCALES = {
    "signed": SIGNED,  # activations, weights: negative red, zero white, positive blue
    "gate": GATE,  # gate values and fractions in [0, 1]
    "gradient": "Viridis",  # gradient magnitudes, on a log scale
    "onehot": [[0.0, "#ffffff"], [1.0, "#f39c12"]],  # one-hot inputs
    "probability": "Blues",  # probabilities
}
