"""Jobs, quotes and payment attempts: what funders and providers see."""
