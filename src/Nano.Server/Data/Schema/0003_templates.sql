-- System templates: the hardware models and OS label guests are created with (ROUTES.md 4.8),
-- with the five upstream defaults present after the first start.

CREATE TABLE templates (
    id                char(20) PRIMARY KEY CHECK (id ~ '^[0-9a-v]{20}$'),
    name              text NOT NULL UNIQUE,
    admin             text NOT NULL,
    operating_system  text NOT NULL CHECK (operating_system IN ('linux', 'windows')),
    disk              text NOT NULL CHECK (disk IN ('scsi', 'sata', 'ide')),
    network           text NOT NULL CHECK (network IN ('virtio', 'e1000', 'rtl8139')),
    display           text NOT NULL CHECK (display IN ('vga', 'cirrus', 'qxl', 'virtio', 'none')),
    control           text NOT NULL CHECK (control IN ('vnc', 'spice')),
    usb               text NOT NULL DEFAULT '' CHECK (usb IN ('', 'nec-xhci')),
    tablet            text NOT NULL DEFAULT '' CHECK (tablet IN ('', 'usb', 'virtio')),
    position          bigserial NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    modified_at       timestamptz NOT NULL DEFAULT now()
);

INSERT INTO templates (id, name, admin, operating_system, disk, network, display, control, usb, tablet) VALUES
    ('0qodbfb48nur3avg0001', 'CentOS 7', 'root', 'linux', 'scsi', 'virtio', 'vga', 'vnc', 'nec-xhci', 'usb'),
    ('0qodbfbf3crqbalg0002', 'CentOS 6', 'root', 'linux', 'sata', 'virtio', 'vga', 'vnc', 'nec-xhci', 'usb'),
    ('0qodbfbbglt7e0e00003', 'Windows Server 2012', 'Administrator', 'windows', 'sata', 'e1000', 'vga', 'vnc', 'nec-xhci', 'usb'),
    ('0qodbfbd15imbt3g0004', 'General', 'root', 'linux', 'sata', 'rtl8139', 'vga', 'vnc', '', 'usb'),
    ('0qodbfbaa0up00a00005', 'Legacy', 'root', 'linux', 'ide', 'rtl8139', 'cirrus', 'vnc', '', '');
