"""Work in progress."""
import streamlit as st

st.title("gradients")
st.info("This page is being built.")
