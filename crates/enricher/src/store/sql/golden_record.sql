-- The golden records of the people a CPF, phone (E.164) or e-mail names:
-- $1 the kind (cpf, phone, email), $2 the value. One read-only statement
-- (store/customers.rs); its plan is checked in tests/api/customers.rs.
WITH found AS (
               SELECT entity_id FROM core.entities WHERE $1::text = 'cpf' AND national_id = $2
               UNION
               SELECT entity_id FROM core.entity_phones
                WHERE $1 = 'phone' AND phone_e164 = $2 AND entity_id IS NOT NULL
               UNION
               SELECT entity_id FROM core.entity_emails
                WHERE $1 = 'email' AND email = $2 AND entity_id IS NOT NULL)
           SELECT e.entity_id AS "entity_id!", jsonb_build_object(
            'entity_id', e.entity_id, 'national_id', e.national_id, 'entity_type', e.entity_type::text,
            'name', e.name, 'is_enriched', e.is_enriched, 'enriched_at', e.enriched_at,
            'profile', (SELECT to_jsonb(p) - 'entity_id' FROM core.entity_profiles p WHERE p.entity_id = e.entity_id),
            'phones', coalesce((SELECT jsonb_agg(jsonb_build_object('phone', ph.phone_e164, 'type', ph.phone_type,
                        'whatsapp', ph.is_whatsapp, 'primary', ph.is_primary, 'carrier', ph.carrier)
                        ORDER BY ph.is_primary DESC, ph.created_at) FROM core.entity_phones ph WHERE ph.entity_id = e.entity_id), '[]'),
            'emails', coalesce((SELECT jsonb_agg(jsonb_build_object('email', m.email, 'verified', m.is_verified, 'primary', m.is_primary)
                        ORDER BY m.is_primary DESC, m.created_at) FROM core.entity_emails m WHERE m.entity_id = e.entity_id), '[]'),
            'addresses', coalesce((SELECT jsonb_agg(jsonb_build_object('formatted', a.formatted_address, 'street_type', a.street_type,
                        'street', a.street, 'number', a.number, 'complement', a.complement, 'neighborhood', a.neighborhood,
                        'city', a.city, 'state', a.state, 'zip_code', a.zip_code, 'confidence', ea.confidence_score,
                        'verified', ea.verified, 'primary', ea.is_primary)
                        ORDER BY ea.confidence_score DESC NULLS LAST)
                      FROM core.entity_addresses ea JOIN core.addresses a ON a.id = ea.address_id WHERE ea.entity_id = e.entity_id), '[]'),
            'relatives', coalesce((SELECT jsonb_agg(jsonb_build_object('name', t.name, 'national_id', t.national_id,
                        'relationship', r.relationship_type) ORDER BY r.created_at)
                      FROM core.entity_relationships r JOIN core.entities t ON t.entity_id = r.target_entity_id
                      WHERE r.source_entity_id = e.entity_id AND r.relationship_category = 'family'), '[]'),
            'companies', coalesce((SELECT jsonb_agg(jsonb_build_object('cnpj', t.national_id, 'relationship', r.relationship_type,
                        'role', r.metadata->>'role') ORDER BY r.created_at)
                      FROM core.entity_relationships r JOIN core.entities t ON t.entity_id = r.target_entity_id
                      WHERE r.source_entity_id = e.entity_id AND r.relationship_category = 'company'), '[]'),
            'financials', (SELECT jsonb_build_object('year', f.year, 'month', f.month, 'reported_income', f.reported_income,
                        'credit_score', f.credit_score, 'risk_score', f.risk_score)
                      FROM core.entity_financials f WHERE f.entity_id = e.entity_id
                      ORDER BY f.year DESC, f.month DESC NULLS LAST LIMIT 1),
            'leads', coalesce((SELECT jsonb_agg(jsonb_build_object('lead_id', l.lead_id, 'match_kind', l.match_kind, 'confidence', l.confidence,
                        'linked_at', l.linked_at) ORDER BY l.linked_at) FROM enrich.lead_entities l WHERE l.entity_id = e.entity_id), '[]')) AS "record!"
             FROM core.entities e WHERE e.entity_id IN (SELECT entity_id FROM found)
            ORDER BY e.enriched_at DESC NULLS LAST
