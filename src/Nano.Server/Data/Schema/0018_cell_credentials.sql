-- Each cell's certificate, issued once per cell name by enrollment (over TLS): the serial the cell must present.
CREATE TABLE cell_credentials (
    name        text PRIMARY KEY,
    serial      text NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now()
);
