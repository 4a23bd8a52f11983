"""Appointments: bookable resources (staff, rooms, equipment), their hours, free slots and bookings."""
