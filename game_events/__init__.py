"""The game-events pipeline: API -> Kafka -> Spark -> HDFS/Hive -> Presto."""
