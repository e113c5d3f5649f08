"""Work in progress."""
import streamlit as st

st.title("cells")
st.info("This page is being built.")
