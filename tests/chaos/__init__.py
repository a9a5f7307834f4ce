"""The chaos suite: the payment pipeline under load, crashes, broker loss and upstream faults."""
