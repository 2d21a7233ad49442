-- The column is part of the archive from migration 4 on: nothing to undo.
SELECT 1;
