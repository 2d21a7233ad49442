//! The SQL functions that read legacy text into typed values.

/// The readers the conversions use; created only when a conversion needs
/// them (a database in the shape we create never gets them). Text written
/// the Brazilian way is read too: `sim`/`não`, `1.234,56`, `31/12/2019`
/// (day first); a timestamp without a zone is São Paulo time.
pub(super) const READERS: &str = r#"
CREATE OR REPLACE FUNCTION enrich.c2s_read_boolean(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lower(btrim(v)) IN ('t', 'true', '1', 'y', 'yes', 's', 'sim', 'on', 'v', 'verdadeiro') THEN true
                WHEN lower(btrim(v)) IN ('f', 'false', '0', 'n', 'no', 'nao', 'não', 'nÃo', 'off', 'falso') THEN false END
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_integer(v text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- A whole number, with at most a zero fraction (`12,0`, `12.00`); `1.000`
    -- could be a thousand or one: not read.
    SELECT CASE WHEN btrim(v) ~ '{INTEGER_PATTERN}'
                THEN split_part(split_part(btrim(v), '.', 1), ',', 1)::integer END
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_numeric(v text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- `1.234,56`, `1.234.567`: thousands by dots (a comma, or more than one dot).
        WHEN s ~ '^[+-]?[0-9]{1,3}(\.[0-9]{3})+,[0-9]{1,30}$' OR s ~ '^[+-]?[0-9]{1,3}(\.[0-9]{3}){2,}$'
            THEN replace(replace(s, '.', ''), ',', '.')::numeric
        -- `1,234.56`, `1,234,567`: thousands by commas.
        WHEN s ~ '^[+-]?[0-9]{1,3}(,[0-9]{3})+\.[0-9]{1,30}$' OR s ~ '^[+-]?[0-9]{1,3}(,[0-9]{3}){2,}$'
            THEN replace(s, ',', '')::numeric
        -- `1.500` (and `1,500`): a thousand and a half, or one and a half — not read
        -- (unless the whole part is 0: `0.750` is a fraction).
        WHEN s ~ '^[+-]?[1-9][0-9]{0,2}[.,][0-9]{3}$' THEN NULL
        WHEN s ~ '^[+-]?[0-9]{1,30}(\.[0-9]{1,30})?$' THEN s::numeric
        WHEN s ~ '^[+-]?[0-9]{1,30},[0-9]{1,30}$' THEN replace(s, ',', '.')::numeric
    END
      FROM (SELECT regexp_replace(btrim(v), '^R\$ *', '') AS s) x
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_date(v text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE SET DateStyle = 'ISO, DMY' AS $$
DECLARE
    s text := btrim(v);
    -- An optional time after the date, nothing else.
    t text := '([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?( ?([+-][0-9]{2}(:?[0-9]{2})?|Z))?$';
BEGIN
    IF s ~ ('^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' || t) OR s ~ ('^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}' || t) THEN
        -- The whole value is read (a time that is no time makes it unreadable).
        RETURN s::timestamp::date;
    ELSIF s ~ '^[0-9]{8}$' THEN
        RETURN to_date(s, 'YYYYMMDD');
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_timestamptz(v text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET TimeZone = 'America/Sao_Paulo' SET DateStyle = 'ISO, DMY' AS $$
DECLARE
    s text := btrim(v);
    t text := '([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?( ?([+-][0-9]{2}(:?[0-9]{2})?|Z|UTC))?$';
BEGIN
    IF s ~ '^[0-9]{9,10}$' THEN
        RETURN to_timestamp(s::bigint);
    ELSIF s ~ '^[0-9]{8}$' THEN
        RETURN to_date(s, 'YYYYMMDD')::timestamptz;
    ELSIF s ~ ('^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' || t) OR s ~ ('^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}' || t) THEN
        RETURN s::timestamptz;
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_jsonb(v text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE j jsonb;
BEGIN
    IF v IS NULL OR btrim(v) = '' THEN
        RETURN NULL;
    END IF;
    BEGIN
        j := v::jsonb;
    EXCEPTION WHEN others THEN
        j := NULL;
    END;
    IF jsonb_typeof(j) = 'object' THEN
        RETURN j;
    END IF;
    RETURN jsonb_build_object('legacy_text', v);
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_keep_legacy(meta jsonb, col text, original text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Merged into an object only: a metadata (or its `legacy`) that is not an
    -- object is kept beside, under `earlier`.
    SELECT CASE WHEN meta IS NULL OR jsonb_typeof(meta) = 'object' THEN
                coalesce(meta, '{}'::jsonb) || jsonb_build_object('legacy',
                    CASE WHEN jsonb_typeof(meta->'legacy') = 'object' THEN meta->'legacy'
                         WHEN meta ? 'legacy' THEN jsonb_build_object('earlier', meta->'legacy')
                         ELSE '{}'::jsonb END
                    || jsonb_build_object(col, original))
           ELSE jsonb_build_object('earlier', meta, 'legacy', jsonb_build_object(col, original)) END
$$;
"#;
