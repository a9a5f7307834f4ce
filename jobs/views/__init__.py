"""Pages of the marketplace, split by area: accounts, jobs and quotes, payments, the wallet's callback."""
