"""Pure signal processing and data contracts for emopipe.

Nothing in this package imports Kafka, Faust, Redis or torch, reads clocks,
environment variables, files or sockets. Time is always the samples' event time.
"""
