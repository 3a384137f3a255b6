CREATE TYPE "public"."gdpr_decline_reason" AS ENUM('legal_hold', 'contract', 'legal_claims', 'other');--> statement-breakpoint
CREATE TYPE "public"."gdpr_request_state" AS ENUM('open', 'overdue', 'completed', 'declined');--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"notice_key" text NOT NULL,
	"user_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"delivered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_deliveries_notice_key_user_id_channel_pk" PRIMARY KEY("notice_key","user_id","channel")
);
--> statement-breakpoint
DROP INDEX "gdpr_requests_status_due_idx";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ALTER COLUMN "status" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ALTER COLUMN "status" SET DATA TYPE "public"."gdpr_request_state" USING "status"::text::"public"."gdpr_request_state";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ALTER COLUMN "status" SET DEFAULT 'open';--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "reference" text;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "completion_record" jsonb;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "decline_reason" "gdpr_decline_reason";--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "decline_note" text;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "declined_by" uuid;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD COLUMN "bulk_job_completed_email" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD COLUMN "bulk_job_completed_in_app" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD COLUMN "gdpr_deadlines_email" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD COLUMN "gdpr_deadlines_in_app" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "gdpr_request_id" uuid;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD CONSTRAINT "gdpr_requests_declined_by_users_id_fk" FOREIGN KEY ("declined_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_gdpr_request_id_gdpr_requests_id_fk" FOREIGN KEY ("gdpr_request_id") REFERENCES "public"."gdpr_requests"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "gdpr_requests_received_idx" ON "gdpr_requests" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "gdpr_requests_one_open_per_customer" ON "gdpr_requests" USING btree ("customer_id") WHERE "gdpr_requests"."status" in ('open', 'overdue');--> statement-breakpoint
CREATE INDEX "notifications_user_unread_idx" ON "notifications" USING btree ("user_id","created_at") WHERE "notifications"."read_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_gdpr_request_idx" ON "notifications" USING btree ("gdpr_request_id");--> statement-breakpoint
CREATE INDEX "gdpr_requests_status_due_idx" ON "gdpr_requests" USING btree ("status","due_at","id");--> statement-breakpoint
ALTER TABLE "gdpr_requests" DROP COLUMN "erased_from";--> statement-breakpoint
ALTER TABLE "gdpr_requests" DROP COLUMN "last_reminder_at";--> statement-breakpoint
ALTER TABLE "notification_settings" DROP COLUMN "bulk_job_completed";--> statement-breakpoint
DROP TYPE "public"."gdpr_request_status";--> statement-breakpoint
DROP TYPE "public"."notification_delivery";