"""The data-access boundary: every SQL statement of the domain, the pool and the migrations."""
