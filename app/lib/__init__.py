"""Dashboard helpers: cached loaders, run filters, labels and download buttons.

Tables and figures themselves come from `mrdib.results.tables` and `mrdib.figures.charts`, so notebooks and
the report draw the same ones; what lives here is the glue that needs streamlit.
"""
