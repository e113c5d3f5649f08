"""Work in progress."""
import streamlit as st

st.title("gates")
st.info("This page is being built.")
