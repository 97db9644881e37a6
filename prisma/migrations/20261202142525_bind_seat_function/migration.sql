-- Binding a seat in one round trip (src/license/seats.ts): the license's row is locked first,
-- and every statement after it reads the seats as they are once the lock is held (each
-- statement of a volatile plpgsql function takes a fresh snapshot in READ COMMITTED), so
-- two PCs racing for the last seat, on one server or several, never both get it.
CREATE FUNCTION bind_seat(p_license uuid, p_pcid text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  seat_cap integer;
  taken integer;
BEGIN
  SELECT seat_limit INTO seat_cap FROM license WHERE id = p_license FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'gone';
  END IF;
  UPDATE seat SET last_seen_at = now() WHERE license_id = p_license AND pcid = p_pcid;
  IF FOUND THEN
    RETURN 'already';
  END IF;
  SELECT count(*) INTO taken FROM seat WHERE license_id = p_license;
  IF taken >= seat_cap THEN
    RETURN 'full';
  END IF;
  INSERT INTO seat (license_id, pcid) VALUES (p_license, p_pcid);
  RETURN 'bound';
END
$$;
