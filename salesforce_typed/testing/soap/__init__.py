"""The partner SOAP API of the fake org (`/services/Soap/u/NN.0`): the calls, conversions
between partner objects and records, and the wire envelope."""
