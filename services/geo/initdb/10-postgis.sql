-- geo demo: PostGIS and a few points, so a migration has spatial data to move
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE places (
    id    serial PRIMARY KEY,
    name  text NOT NULL,
    geom  geometry(Point, 4326) NOT NULL
);
CREATE INDEX places_geom_idx ON places USING gist (geom);
INSERT INTO places (name, geom) VALUES
    ('Greenwich', ST_SetSRID(ST_MakePoint(-0.0015, 51.4778), 4326)),
    ('Null Island', ST_SetSRID(ST_MakePoint(0, 0), 4326)),
    ('Mount Everest', ST_SetSRID(ST_MakePoint(86.9250, 27.9881), 4326));
