CREATE TYPE "public"."privacy_clock_kind" AS ENUM('extend', 'pause', 'resume');--> statement-breakpoint
CREATE TYPE "public"."privacy_delivery_method" AS ENUM('email', 'portal', 'post', 'other');--> statement-breakpoint
CREATE TYPE "public"."privacy_pause_reason" AS ENUM('awaiting_identity_verification', 'awaiting_clarification');--> statement-breakpoint
CREATE TYPE "public"."privacy_regulation" AS ENUM('gdpr', 'uk_gdpr', 'ccpa');--> statement-breakpoint
CREATE TYPE "public"."privacy_request_type" AS ENUM('erasure', 'access');--> statement-breakpoint
CREATE TABLE "privacy_request_clock" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"kind" "privacy_clock_kind" NOT NULL,
	"reason" text NOT NULL,
	"note" text,
	"at" timestamp with time zone NOT NULL,
	"due_at_before" timestamp with time zone NOT NULL,
	"due_at_after" timestamp with time zone NOT NULL,
	"paused_days" integer DEFAULT 0 NOT NULL,
	"actor_user_id" uuid
);
--> statement-breakpoint
DROP INDEX "gdpr_requests_one_open_per_customer";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "type" "privacy_request_type" DEFAULT 'erasure' NOT NULL;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "regulation" "privacy_regulation" DEFAULT 'gdpr' NOT NULL;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "statutory_due_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "pause_reason" "privacy_pause_reason";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "paused_days" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "delivery_method" "privacy_delivery_method";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "delivery_note" text;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "delivered_by" uuid;--> statement-breakpoint
ALTER TABLE "privacy_request_clock" ADD CONSTRAINT "privacy_request_clock_request_id_gdpr_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."gdpr_requests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_request_clock" ADD CONSTRAINT "privacy_request_clock_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "privacy_request_clock_request_idx" ON "privacy_request_clock" USING btree ("request_id","id");--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD CONSTRAINT "gdpr_requests_delivered_by_users_id_fk" FOREIGN KEY ("delivered_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "gdpr_requests_type_regulation_idx" ON "gdpr_requests" USING btree ("type","regulation");--> statement-breakpoint
CREATE UNIQUE INDEX "gdpr_requests_one_open_per_customer_type" ON "gdpr_requests" USING btree ("customer_id","type") WHERE "gdpr_requests"."status" in ('open', 'overdue');--> statement-breakpoint
-- Requests recorded before clocks could move never moved: their deadline is the statutory one.
UPDATE "gdpr_requests" SET "statutory_due_at" = "due_at" WHERE "statutory_due_at" IS NULL;
