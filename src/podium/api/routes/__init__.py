"""The REST API's routers: one module per area, each a FastAPI ``APIRouter``."""
