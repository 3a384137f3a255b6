CREATE TYPE "public"."export_archive_status" AS ENUM('building', 'ready', 'failed', 'expired');--> statement-breakpoint
ALTER TYPE "public"."job_type" ADD VALUE 'export';--> statement-breakpoint
CREATE TABLE "export_archive_chunks" (
	"archive_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "export_archive_chunks_archive_id_seq_pk" PRIMARY KEY("archive_id","seq")
);
--> statement-breakpoint
CREATE TABLE "export_archives" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" uuid NOT NULL,
	"request_id" uuid,
	"job_id" uuid NOT NULL,
	"status" "export_archive_status" DEFAULT 'building' NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"size" bigint,
	"sha256" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "export_archive_chunks" ADD CONSTRAINT "export_archive_chunks_archive_id_export_archives_id_fk" FOREIGN KEY ("archive_id") REFERENCES "public"."export_archives"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_archives" ADD CONSTRAINT "export_archives_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "export_archives_job_idx" ON "export_archives" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "export_archives_customer_idx" ON "export_archives" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "export_archives_request_idx" ON "export_archives" USING btree ("request_id") WHERE "export_archives"."request_id" is not null;--> statement-breakpoint
-- Zip data does not compress further: store it out of line without trying.
ALTER TABLE "export_archive_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL;
