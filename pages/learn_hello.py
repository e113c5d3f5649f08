"""Work in progress."""
import streamlit as st

st.title("learn_hello")
st.info("This page is being built.")
