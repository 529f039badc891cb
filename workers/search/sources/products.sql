-- Rebuild source of the `products` search index (search.reindex), streamed with a cursor.
-- Must return: id (text, becomes the document _id), version (bigint, the external version, the same
-- number the application puts in search.index jobs), document (jsonb, the whole document).
-- Runs against SEARCH_SOURCE_DATABASE_URL; the table belongs to the application.
SELECT id::text AS id, version, document
FROM search_products
ORDER BY id
