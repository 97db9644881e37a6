-- CreateTable
CREATE TABLE "download_day" (
    "program" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "started" BIGINT NOT NULL DEFAULT 0,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "download_day_pkey" PRIMARY KEY ("program","day")
);

-- CreateTable
CREATE TABLE "download_pc" (
    "program" TEXT NOT NULL,
    "folder" TEXT NOT NULL,
    "pcid" TEXT NOT NULL,
    "downloads" INTEGER NOT NULL DEFAULT 0,
    "completed" INTEGER NOT NULL DEFAULT 0,
    "confirmed" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "download_pc_pkey" PRIMARY KEY ("program","folder","pcid")
);

-- CreateTable
CREATE TABLE "version_funnel" (
    "program" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "offered" BIGINT NOT NULL DEFAULT 0,
    "links_issued" BIGINT NOT NULL DEFAULT 0,
    "started" BIGINT NOT NULL DEFAULT 0,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "confirmed" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "version_funnel_pkey" PRIMARY KEY ("program","version")
);

-- CreateTable
CREATE TABLE "download_error" (
    "program" TEXT NOT NULL,
    "folder" TEXT NOT NULL,
    "error_key" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "download_error_pkey" PRIMARY KEY ("program","folder","error_key")
);

-- CreateIndex
CREATE INDEX "download_error_program_folder_count_idx" ON "download_error"("program", "folder", "count");

-- Rollups of the download records and offers for the analytics (docs/analytics.md): kept by
-- statement-level triggers, so that every writer (polls, downloads, f=dlconfirm, any instance,
-- a bulk INSERT) keeps them exact in its own transaction. Written by hand: schema.prisma knows
-- nothing of functions and triggers.
--
-- A download record's share of the rollups; a change is the new share minus the old one.
CREATE TYPE download_change AS (
    program text, folder text, pcid text, day date,
    downloads int, completed int, confirmed int, delivered int, failed int, bytes bigint,
    error text, errors int
);

CREATE FUNCTION download_share(d download, sign int) RETURNS download_change
LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW(d.program, d.folder, d.pcid, (d.started_at AT TIME ZONE 'UTC')::date,
             sign, sign * (d.completed_at IS NOT NULL)::int, sign * (d.confirmed_at IS NOT NULL)::int,
             sign * (d.completed_at IS NOT NULL OR d.confirmed_at IS NOT NULL)::int,
             sign * (d.failed_at IS NOT NULL AND d.completed_at IS NULL AND d.confirmed_at IS NULL)::int,
             sign * d.bytes_served, d.error, sign * (d.failed_at IS NOT NULL AND d.error IS NOT NULL)::int)::download_change
$$;

-- Adds changes to download_day, download_error, download_pc and, for each PC whose count of
-- a kind went from zero to more (or back), to version_funnel. A count's old value is its new
-- one minus the change, whatever other transactions added meanwhile (the upsert locks the
-- row), so PCs are counted once. Rows are locked in key order, table by table. In plpgsql, so
-- that its plans are kept per connection; a statement that changed no count returns at once.
CREATE FUNCTION apply_download_changes(changes download_change[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF cardinality(changes) = 0 THEN
    RETURN;
  END IF;
  WITH c AS (
    SELECT * FROM unnest(changes)
     WHERE downloads <> 0 OR completed <> 0 OR confirmed <> 0 OR delivered <> 0 OR failed <> 0 OR bytes <> 0 OR errors <> 0
  ), days AS (
    INSERT INTO download_day AS t (program, day, started, delivered, failed, bytes)
    SELECT program, day, sum(downloads), sum(delivered), sum(failed), sum(bytes) FROM c GROUP BY program, day
    HAVING sum(downloads) <> 0 OR sum(delivered) <> 0 OR sum(failed) <> 0 OR sum(bytes) <> 0 ORDER BY program, day
    ON CONFLICT (program, day) DO UPDATE SET started = t.started + EXCLUDED.started, delivered = t.delivered + EXCLUDED.delivered,
                                             failed = t.failed + EXCLUDED.failed, bytes = t.bytes + EXCLUDED.bytes
  ), errors AS (
    INSERT INTO download_error AS t (program, folder, error_key, error, count)
    SELECT program, folder, md5(error), min(error), sum(errors) FROM c WHERE errors <> 0 GROUP BY program, folder, md5(error)
    HAVING sum(errors) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (program, folder, error_key) DO UPDATE SET count = t.count + EXCLUDED.count
  ), pc AS (
    SELECT program, folder, pcid, sum(downloads)::int AS downloads, sum(completed)::int AS completed, sum(confirmed)::int AS confirmed, sum(failed)::int AS failed
      FROM c GROUP BY program, folder, pcid
    HAVING sum(downloads) <> 0 OR sum(completed) <> 0 OR sum(confirmed) <> 0 OR sum(failed) <> 0
  ), pcs AS (
    INSERT INTO download_pc AS t (program, folder, pcid, downloads, completed, confirmed, failed)
    SELECT * FROM pc ORDER BY program, folder, pcid
    ON CONFLICT (program, folder, pcid) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads, completed = t.completed + EXCLUDED.completed,
                                                      confirmed = t.confirmed + EXCLUDED.confirmed, failed = t.failed + EXCLUDED.failed
    RETURNING t.program, t.folder, t.pcid, t.downloads, t.completed, t.confirmed, t.failed
  )
  INSERT INTO version_funnel AS f (program, version, started, delivered, confirmed, failed)
  SELECT n.program, n.folder,
         sum((n.downloads > 0)::int - (n.downloads - pc.downloads > 0)::int),
         sum((n.completed > 0)::int - (n.completed - pc.completed > 0)::int),
         sum((n.confirmed > 0)::int - (n.confirmed - pc.confirmed > 0)::int),
         sum((n.failed > 0)::int - (n.failed - pc.failed > 0)::int)
    FROM pcs n JOIN pc USING (program, folder, pcid)
   GROUP BY n.program, n.folder
  HAVING sum((n.downloads > 0)::int - (n.downloads - pc.downloads > 0)::int) <> 0 OR sum((n.completed > 0)::int - (n.completed - pc.completed > 0)::int) <> 0
      OR sum((n.confirmed > 0)::int - (n.confirmed - pc.confirmed > 0)::int) <> 0 OR sum((n.failed > 0)::int - (n.failed - pc.failed > 0)::int) <> 0
   ORDER BY n.program, n.folder
  ON CONFLICT (program, version) DO UPDATE SET started = f.started + EXCLUDED.started, delivered = f.delivered + EXCLUDED.delivered,
                                               confirmed = f.confirmed + EXCLUDED.confirmed, failed = f.failed + EXCLUDED.failed;
END $$;

CREATE FUNCTION download_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM apply_download_changes(ARRAY(SELECT download_share(n, 1) FROM new_rows n));
  RETURN NULL;
END $$;

CREATE FUNCTION download_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The old share taken away, the new one added: only the rows whose share changed.
  PERFORM apply_download_changes(ARRAY(
    SELECT s FROM old_rows o JOIN new_rows n USING (id), LATERAL (VALUES (download_share(o, -1)), (download_share(n, 1))) AS v(s)
     WHERE download_share(o, 1) IS DISTINCT FROM download_share(n, 1)));
  RETURN NULL;
END $$;

CREATE FUNCTION download_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM apply_download_changes(ARRAY(SELECT download_share(o, -1) FROM old_rows o));
  RETURN NULL;
END $$;

CREATE TRIGGER download_rollup_insert AFTER INSERT ON download REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION download_inserted();
CREATE TRIGGER download_rollup_update AFTER UPDATE ON download REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION download_updated();
CREATE TRIGGER download_rollup_delete AFTER DELETE ON download REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION download_deleted();

-- Offers and links: PCs offered a version, and of them those given its links.
-- An INSERT … ON CONFLICT DO UPDATE fires the update trigger, then the insert trigger: each
-- locks version_funnel rows in key order, the two together do not, so two flushes (two
-- instances) could deadlock. The first firing in a transaction takes a lock that makes
-- flushes wait for each other here, before any version_funnel row is locked.
CREATE FUNCTION version_offer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('iupdate'), hashtext('version_funnel'));
  IF TG_OP = 'INSERT' THEN
    INSERT INTO version_funnel AS f (program, version, offered, links_issued)
    SELECT program, version, count(*), count(linked_at) FROM new_rows GROUP BY program, version ORDER BY program, version
    ON CONFLICT (program, version) DO UPDATE SET offered = f.offered + EXCLUDED.offered, links_issued = f.links_issued + EXCLUDED.links_issued;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO version_funnel AS f (program, version, offered, links_issued)
    SELECT n.program, n.version, 0, sum((n.linked_at IS NOT NULL)::int - (o.linked_at IS NOT NULL)::int)
      FROM old_rows o JOIN new_rows n USING (program, version, pcid)
     GROUP BY n.program, n.version HAVING sum((n.linked_at IS NOT NULL)::int - (o.linked_at IS NOT NULL)::int) <> 0 ORDER BY n.program, n.version
    ON CONFLICT (program, version) DO UPDATE SET links_issued = f.links_issued + EXCLUDED.links_issued;
  ELSE
    INSERT INTO version_funnel AS f (program, version, offered, links_issued)
    SELECT program, version, -count(*), -count(linked_at) FROM old_rows GROUP BY program, version ORDER BY program, version
    ON CONFLICT (program, version) DO UPDATE SET offered = f.offered + EXCLUDED.offered, links_issued = f.links_issued + EXCLUDED.links_issued;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER version_offer_rollup_insert AFTER INSERT ON version_offer REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_offer_changed();
CREATE TRIGGER version_offer_rollup_update AFTER UPDATE ON version_offer REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_offer_changed();
CREATE TRIGGER version_offer_rollup_delete AFTER DELETE ON version_offer REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION version_offer_changed();

-- The records written before this migration, counted as the triggers count them (set-based:
-- no array of every record, whatever their number).
INSERT INTO version_funnel (program, version, offered, links_issued)
SELECT program, version, count(*), count(linked_at) FROM version_offer GROUP BY program, version;
INSERT INTO download_day (program, day, started, delivered, failed, bytes)
SELECT program, (started_at AT TIME ZONE 'UTC')::date, count(*),
       count(*) FILTER (WHERE completed_at IS NOT NULL OR confirmed_at IS NOT NULL),
       count(*) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL), sum(bytes_served)
  FROM download GROUP BY 1, 2;
INSERT INTO download_error (program, folder, error_key, error, count)
SELECT program, folder, md5(error), min(error), count(*) FROM download WHERE failed_at IS NOT NULL AND error IS NOT NULL GROUP BY program, folder, md5(error);
INSERT INTO download_pc (program, folder, pcid, downloads, completed, confirmed, failed)
SELECT program, folder, pcid, count(*), count(completed_at), count(confirmed_at),
       count(*) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL)
  FROM download GROUP BY 1, 2, 3;
INSERT INTO version_funnel AS f (program, version, started, delivered, confirmed, failed)
SELECT program, folder, count(*), count(*) FILTER (WHERE completed > 0), count(*) FILTER (WHERE confirmed > 0), count(*) FILTER (WHERE failed > 0)
  FROM download_pc GROUP BY 1, 2
ON CONFLICT (program, version) DO UPDATE SET started = EXCLUDED.started, delivered = EXCLUDED.delivered, confirmed = EXCLUDED.confirmed, failed = EXCLUDED.failed;
