ALTER TYPE "public"."gdpr_decline_reason" ADD VALUE 'customer_erased';--> statement-breakpoint
ALTER TABLE "gdpr_requests" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "gdpr_requests_closed_idx" ON "gdpr_requests" USING btree ("regulation","closed_at") WHERE "gdpr_requests"."closed_at" is not null;--> statement-breakpoint
-- Hand-written: requests closed before this migration get a closing time (declined ones: their last update).
UPDATE "gdpr_requests" SET "closed_at" = coalesce("completed_at", "updated_at") WHERE "status" IN ('completed', 'declined');
