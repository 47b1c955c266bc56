-- A SQLite file written by store 0.1 (pricing migrated to 001_initial, a few rows),
-- as sqlite3's iterdump() printed it: decimals are INTEGER(p, s) columns holding the
-- number times 10**s. tests/test_legacy_decimals.py loads it.
BEGIN TRANSACTION;
CREATE TABLE "brand_groups" ("id" INTEGER NOT NULL PRIMARY KEY, "brand" VARCHAR(100) NOT NULL, "group_name" VARCHAR(50) NOT NULL, "base_price" INTEGER(10, 2) NOT NULL, "expected_origins" TEXT NOT NULL DEFAULT (json('[]')), "expected_decades" TEXT NOT NULL DEFAULT (json('[]')), "expected_trends" TEXT NOT NULL DEFAULT (json('[]')), "condition_sensitivity" INTEGER(3, 2) NOT NULL DEFAULT 100, "created_at" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'), "updated_at" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'), CONSTRAINT "ck_brand_groups_brand_max_length" CHECK (length("brand") <= 100), CONSTRAINT "ck_brand_groups_group_name_max_length" CHECK (length("group_name") <= 50), CONSTRAINT "ck_brand_groups_expected_origins_json" CHECK ("expected_origins" IS NULL OR json_valid("expected_origins")), CONSTRAINT "ck_brand_groups_expected_decades_json" CHECK ("expected_decades" IS NULL OR json_valid("expected_decades")), CONSTRAINT "ck_brand_groups_expected_trends_json" CHECK ("expected_trends" IS NULL OR json_valid("expected_trends")), CONSTRAINT "ck_brand_groups_base_price" CHECK (base_price >= 500 AND base_price <= 50000), CONSTRAINT "ck_brand_groups_sensitivity" CHECK (condition_sensitivity >= 50 AND condition_sensitivity <= 150));
INSERT INTO "brand_groups" VALUES(1,'b0','jeans',2550,'["USA"]','[]','[]',125,'2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
INSERT INTO "brand_groups" VALUES(2,'b1','jeans',500,'["USA"]','[]','[]',50,'2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
INSERT INTO "brand_groups" VALUES(3,'b2','jeans',50000,'["USA"]','[]','[]',150,'2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
INSERT INTO "brand_groups" VALUES(4,'b3','jeans',12345,'["USA"]','[]','[]',100,'2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
CREATE TABLE "models" ("id" INTEGER NOT NULL PRIMARY KEY, "brand" VARCHAR(100) NOT NULL, "group_name" VARCHAR(50) NOT NULL, "model" VARCHAR(100) NOT NULL, "coefficient" INTEGER(4, 2) NOT NULL DEFAULT 100, "expected_features" TEXT NOT NULL DEFAULT (json('[]')), "created_at" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'), "updated_at" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'), CONSTRAINT "ck_models_brand_max_length" CHECK (length("brand") <= 100), CONSTRAINT "ck_models_group_name_max_length" CHECK (length("group_name") <= 50), CONSTRAINT "ck_models_model_max_length" CHECK (length("model") <= 100), CONSTRAINT "ck_models_expected_features_json" CHECK ("expected_features" IS NULL OR json_valid("expected_features")), CONSTRAINT "ck_models_coefficient" CHECK (coefficient >= 50 AND coefficient <= 300));
INSERT INTO "models" VALUES(1,'b0','jeans','501',140,'[]','2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
INSERT INTO "models" VALUES(2,'b0','jeans','Big E',300,'[]','2026-11-01 12:00:00.000000+00:00','2026-11-01 12:00:00.000000+00:00');
CREATE TABLE "pricing_migrate_history" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "checksum" VARCHAR(64), "migrated_at" DATETIME NOT NULL);
INSERT INTO "pricing_migrate_history" VALUES(1,'001_initial','cdc48ab7320340c86ad26389c6109bf16ae3b7a29e45f78565bca5585aca394f','2026-12-01 21:40:07.818678');
CREATE INDEX "idx_brand_groups_brand" ON "brand_groups" ("brand");
CREATE INDEX "idx_brand_groups_created_at" ON "brand_groups" ("created_at" DESC);
CREATE INDEX "idx_brand_groups_group" ON "brand_groups" ("group_name");
CREATE UNIQUE INDEX "uq_brand_groups_brand_group" ON "brand_groups" ("brand", "group_name");
CREATE INDEX "idx_models_brand" ON "models" ("brand");
CREATE INDEX "idx_models_brand_group" ON "models" ("brand", "group_name");
CREATE INDEX "idx_models_created_at" ON "models" ("created_at" DESC);
CREATE INDEX "idx_models_group" ON "models" ("group_name");
CREATE UNIQUE INDEX "uq_models_brand_group_model" ON "models" ("brand", "group_name", "model");
COMMIT;
