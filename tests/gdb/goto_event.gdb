monitor when
