-- Data changes cannot be undone: the old names are gone.

-- migrate:up
INSERT INTO stations (station_id, name) VALUES ('HAN', 'Hanley'), ('LEE', 'Leek');

-- migrate:down irreversible
