"""Reports: deterministic SVG charts (matplotlib) and a self-contained HTML report (Jinja2)."""
