"""Bulk API 1.0 of the fake org (`/services/async/NN.0/job...`): routes, job and batch state
machines, what a batch does, and the wire formats."""
