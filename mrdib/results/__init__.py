"""Results from finished runs: the tidy runs frame grouped into configurations, the choice by
validation, Tables 1-3 with paired tests, and their Markdown, CSV and LaTeX forms. The report,
the dashboard and the notebooks all compute their numbers here."""
