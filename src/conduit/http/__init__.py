"""The HTTP interface: the RealWorld API and the operational endpoints."""
