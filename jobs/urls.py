"""Routes of the jobs app: pages, the wallet's finish callback and the JSON API."""

from django.contrib.auth import views as auth_views
from django.urls import path

from jobs import api
from jobs.views import accounts, callback, jobs, payments

urlpatterns = [
    path("", jobs.home, name="home"),
    # People
    path("signup", accounts.signup, name="signup"),
    path("login", accounts.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("profile", accounts.profile, name="profile"),
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
    # JSON API
    path("api/jobs/<int:job_id>/quotes/<int:quote_id>/approve", api.quote_approve, name="api-quote-approve"),
    path("api/jobs/<int:job_id>/payment", api.job_payment, name="api-job-payment"),
]
