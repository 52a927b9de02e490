"""The password gate: when ``DASHBOARD_PASSWORD`` is set, nothing but this form is served until
the right password is entered in the session."""

from __future__ import annotations

import hmac

import streamlit as st
from pydantic import SecretStr

AUTH_KEY = "gatepulse_authenticated"
PASSWORD_KEY = "password"


def is_required(password: SecretStr) -> bool:
    return bool(password.get_secret_value())


def is_authenticated(password: SecretStr) -> bool:
    """True when no password is configured or this session has entered it."""
    if not is_required(password):
        return True
    return bool(st.session_state.get(AUTH_KEY))


def check(candidate: str, password: SecretStr) -> bool:
    """Constant-time comparison of ``candidate`` with the configured password."""
    return hmac.compare_digest(candidate.encode("utf-8"), password.get_secret_value().encode())


def login_page(password: SecretStr) -> None:
    """The only page served to a session that has not entered the password."""
    st.title("gatepulse")
    st.caption("This dashboard is protected. Enter the password set in DASHBOARD_PASSWORD.")
    with st.form("login", clear_on_submit=True):
        candidate = st.text_input("Password", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if check(candidate or "", password):
            st.session_state[AUTH_KEY] = True
            st.rerun()
        st.error("Wrong password.")


def logout() -> None:
    st.session_state.pop(AUTH_KEY, None)
