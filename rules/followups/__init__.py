"""Follow-up tasks, the closed loop: a member tried garments and left without buying; the
store (or the rule in `suggest.py`) asks an assistant to follow up; the task is delivered
like an alert, completed with an outcome, and a purchase by that member within the window
is attributed to it (time-series points in `points.py`)."""
