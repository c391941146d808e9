"""The web UI at ``/ui/``: server-rendered pages over the same services as the API.

Modules (nothing is imported here, so importing one does not load the others):

- ``app``: the UI's ASGI app and :class:`~podium.ui.app.UiGateway`, which ``podium up``'s
  API app puts in front of its key check so ``/ui/`` answers with sessions instead;
- ``sessions``: the signed session cookie, the server secret and the CSRF token;
- ``login_links``: the one-time login links ``podium up`` prints;
- ``guard``: who is calling (the session) and what they may do (roles, CSRF);
- ``headers``: the Content-Security-Policy and the other security headers;
- ``charts``: server-side SVG charts (lines, bars, parallel coordinates, graphs),
  also meant for notebooks' ``_repr_html_``;
- ``rendering``: the Jinja2 environment and the page and error responses;
- ``pages/``: one module per area (runs, registry, deployments, monitoring, data,
  features, audit) and the login pages;
- ``templates/`` and ``static/``: the HTML templates, the stylesheet and the one script.

See docs/ui.md and docs/adr/0027-web-ui.md.
"""
