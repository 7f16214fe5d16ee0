"""Streamlit-only helpers shared by the pages: session state, samples, sidebar and formatting."""
