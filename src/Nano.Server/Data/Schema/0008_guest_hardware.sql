-- A guest keeps the hardware it was created with, whatever later happens to its template.

ALTER TABLE guests
    ADD COLUMN disk_bus   text NOT NULL DEFAULT 'sata',
    ADD COLUMN nic_model  text NOT NULL DEFAULT 'virtio',
    ADD COLUMN display    text NOT NULL DEFAULT 'vga',
    ADD COLUMN usb        text NOT NULL DEFAULT '',
    ADD COLUMN tablet     text NOT NULL DEFAULT '';
