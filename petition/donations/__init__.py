"""Giving: the donate page, Stripe Checkout and its webhook, the tracked GoFundMe link."""

from flask import Blueprint

bp = Blueprint("donations", __name__)

from petition.donations import views  # noqa: E402,F401
