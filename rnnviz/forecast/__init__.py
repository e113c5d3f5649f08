"""Forecasting lab: a recurrent network against a causal 1D CNN and naive baselines
on a real hourly temperature series (issue 17, item 5).

One concept per module: ``data`` (the series, its checks, the chronological split
and the windows), ``models`` (the GRU / LSTM forecaster and the dilated causal CNN),
``baselines`` (persistence, seasonal naive and the training mean, computed, not
trained), ``trainer`` (``ForecastRace``: both models on the same batches, plus the
command line).
"""
