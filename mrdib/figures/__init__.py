"""Every plotly figure the package draws, in one place: the result charts the report and the
dashboard share (`charts`), the analysis figures (`analysis`) and the dose-response figure
(`dose_response`). Figures take tidy frames and compute nothing of their own."""
