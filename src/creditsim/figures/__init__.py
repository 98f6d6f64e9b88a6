"""How a run's numbers are shown: formatted in words (`numbers`) and drawn (`plots`).

It reads a run's audit and time series and imports nothing above them, so a run result can draw
itself (`RunResult.plot`) and the report and the dashboard share one way of saying a number.
"""
