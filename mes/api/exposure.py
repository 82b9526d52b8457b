"""`/docs`, `/redoc`, `/openapi.json` and `/metrics`: each off, behind a token, or open, as
`mes.security.docs|openapi|metrics` says (the demo keeps them open). The viewers' assets come
from the MES itself (the fastapi-offline package ships them): a plant network has no CDN."""

from importlib.resources import files
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from mes.api.deps import current_principal, services_of
from mes.api.problems import Problem, raises

Exposed = Literal["docs", "openapi", "metrics"]
ASSETS = "/docs-assets"
_bearer = HTTPBearer(auto_error=False)


def exposed(what: Exposed) -> Any:
    """A dependency: 404 when `what` is off, 401 without a token when it is authenticated."""

    @raises("NOT_FOUND", "UNAUTHENTICATED")
    async def guard(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        services = services_of(request)
        mode = getattr(services.cfg.mes.security, what)
        if mode == "off":
            raise Problem(404, "NOT_FOUND", f"{request.url.path} is switched off (mes.security)")
        if mode == "authenticated":
            await current_principal(services, credentials)

    return Depends(guard)


def install_docs(app: FastAPI) -> None:
    """Serve the OpenAPI document and its two viewers behind their guards."""
    app.mount(
        ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), "docs-assets"
    )

    @app.get("/openapi.json", include_in_schema=False, dependencies=[exposed("openapi")])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[exposed("docs")])
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[exposed("docs")])
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
