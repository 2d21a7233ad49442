-- What the customer database holds beside each presented person (store/profile.rs):
-- $1 the persons' CPFs, $2 the lead the note is for, $3/$4 its seller's
-- id and name, $5 the C2S statuses of closed leads. `{owned}` is the union
-- with the ownership table when the database has one (else empty).
-- Properties: at the person's own current addresses (not a relative's, not a
-- workplace, not one marked past), by idx_properties_address — and only at an
-- address with at most three property records: a building's address with its
-- many units says nothing about which one is theirs. The three worth most are
-- listed, all are counted.
-- Earlier lead: the oldest lead of the same person, created before this one,
-- with another seller and a status that is not closed.
SELECT c.national_id,
       pr.total,
       pr.items,
       el.seller_name,
       el.since
  FROM unnest($1::text[]) AS c(national_id)
  JOIN core.entities i ON i.national_id = c.national_id
  CROSS JOIN LATERAL (
    SELECT count(*)::bigint AS total,
           coalesce(jsonb_agg(jsonb_build_object('kind', s.kind, 'area', s.area, 'price', s.price)
                              ORDER BY s.rn) FILTER (WHERE s.rn <= 3), '[]'::jsonb) AS items
      FROM (SELECT coalesce(t.name, p.property_type::text) AS kind,
                   to_jsonb(p.area_m2) AS area,
                   to_jsonb(p.price) AS price,
                   row_number() OVER (ORDER BY p.price DESC NULLS LAST, p.property_id) AS rn
              FROM core.properties p
              LEFT JOIN ref.property_types t ON t.code = p.property_type::text
             WHERE p.property_id IN (
                   SELECT p2.property_id
                     FROM core.entity_addresses ea
                     JOIN core.properties p2 ON p2.address_id = ea.address_id
                    WHERE ea.entity_id = i.entity_id
                      AND coalesce(ea.address_type::text, '') NOT IN ('family_member', 'commercial')
                      AND ea.is_current IS NOT FALSE
                      AND (SELECT count(*) FROM (SELECT 1 FROM core.properties p3
                                                  WHERE p3.address_id = ea.address_id LIMIT 4) b) <= 3
                   {owned})) s
  ) pr
  LEFT JOIN LATERAL (
    SELECT l.seller_name, coalesce(l.c2s_created_at, l.created_at) AS since
      FROM enrich.lead_entities le
      JOIN enrich.leads l ON l.lead_id = le.lead_id
     WHERE le.entity_id = i.entity_id
       AND le.lead_id <> $2
       AND l.seller_name IS NOT NULL
       AND ($3::text IS NULL OR l.seller_id IS DISTINCT FROM $3)
       AND l.seller_name IS DISTINCT FROM $4
       AND (l.c2s_status IS NULL OR lower(l.c2s_status) <> ALL ($5::text[]))
       AND coalesce(l.c2s_created_at, l.created_at)
           < coalesce((SELECT coalesce(t.c2s_created_at, t.created_at) FROM enrich.leads t WHERE t.lead_id = $2), now())
     ORDER BY since
     LIMIT 1
  ) el ON true
