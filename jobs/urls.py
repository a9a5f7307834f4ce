"""Routes of the jobs app: pages, the wallet's finish callback and the JSON API."""

from django.contrib.auth import views as auth_views
from django.urls import path

from jobs import api
from jobs.views import accounts, budgets, callback, jobs, payments, refunds
from jobs.views import dashboard as dashboard_views

urlpatterns = [
    path("", jobs.home, name="home"),
    # People
    path("signup", accounts.signup, name="signup"),
    path("login", accounts.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("profile", accounts.profile, name="profile"),
    path("password-reset", accounts.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent", accounts.password_reset_sent, name="password-reset-sent"),
    path(
        "password-reset/<uidb64>/<token>",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password-reset/done", accounts.password_reset_done, name="password-reset-done"),
    # Budgets
    path("budgets", budgets.budget_create, name="budget-create"),
    path("budgets/<uuid:budget_id>/panel", budgets.budget_panel, name="budget-panel"),
    path("budgets/<uuid:budget_id>/revoke", budgets.budget_revoke, name="budget-revoke"),
    path("budgets/finish/<uuid:budget_id>", budgets.budget_finish, name="budget-finish"),
    # Jobs and quotes
    path("jobs", jobs.job_list, name="job-list"),
    path("jobs/new", jobs.job_create, name="job-create"),
    path("jobs/<int:job_id>", jobs.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/quotes", jobs.quote_create, name="quote-create"),
    # Paying
    path("jobs/<int:job_id>/quotes/<int:quote_id>/approve", payments.quote_approve, name="quote-approve"),
    path("jobs/<int:job_id>/payment-panel", payments.payment_panel, name="payment-panel"),
    path("jobs/<int:job_id>/receipt", payments.receipt, name="receipt"),
    path("payments/<uuid:attempt_id>/cancel", payments.attempt_cancel, name="attempt-cancel"),
    path("payments/finish/<uuid:attempt_id>", callback.payment_finish, name="payment-finish"),
    # Refunds
    path("refunds", refunds.refunds_waiting, name="refunds-waiting"),
    path("jobs/<int:job_id>/refunds", refunds.refund_request, name="refund-request"),
    path("jobs/<int:job_id>/refunds/offer", refunds.refund_offer, name="refund-offer"),
    path("jobs/<int:job_id>/refunds-panel", refunds.refunds_panel, name="refunds-panel"),
    path("refunds/<int:refund_id>/agree", refunds.refund_agree, name="refund-agree"),
    path("refunds/<int:refund_id>/decline", refunds.refund_decline, name="refund-decline"),
    path("refunds/<int:refund_id>/cancel", refunds.refund_cancel, name="refund-cancel"),
    # Dashboard
    path("dashboard", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/figures", dashboard_views.dashboard_figures, name="dashboard-figures"),
    path("dashboard.csv", dashboard_views.dashboard_csv, name="dashboard-csv"),
    path("money", dashboard_views.money, name="money"),
    path("money.csv", dashboard_views.money_csv, name="money-csv"),
    # JSON API
    path("api/jobs/<int:job_id>/quotes/<int:quote_id>/approve", api.quote_approve, name="api-quote-approve"),
    path("api/jobs/<int:job_id>/payment", api.job_payment, name="api-job-payment"),
    path("api/jobs/<int:job_id>/refunds", api.job_refunds, name="api-job-refunds"),
    path("api/jobs/<int:job_id>/refunds/offer", api.refund_offer, name="api-refund-offer"),
    path("api/refunds/<int:refund_id>", api.refund_detail, name="api-refund"),
    path("api/refunds/<int:refund_id>/agree", api.refund_agree, name="api-refund-agree"),
    path("api/refunds/<int:refund_id>/decline", api.refund_decline, name="api-refund-decline"),
    path("api/refunds/<int:refund_id>/cancel", api.refund_cancel, name="api-refund-cancel"),
]
