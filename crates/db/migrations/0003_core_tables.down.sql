-- The customer tables hold the users' data: a down migration never drops them.
SELECT 1;
