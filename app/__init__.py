"""The MRdIB dashboard (`streamlit run app/main.py`): pages in app_pages/, helpers in lib/."""
