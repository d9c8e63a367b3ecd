"""The middleware every API needs, built in and stdlib-only (R101–R105).

Each is made by a function (`cors(...)`, `sessions(...)`, ...) that returns a
`Battery`: usable in `App(middleware=[...])`, as `middleware = ...` in a
`_middleware.py`, or as a decorator on one handler.
"""
