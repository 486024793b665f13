"""Where the local gateway listens unless told otherwise: one home for the CLI's `serve`,
the gateway itself and the desktop's Gateway menu (Qt-free and import-cheap, so the GUI
does not pull uvicorn in for two constants)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
